import pkg from "../../package.json" with { type: "json" };

/**
 * Replaced by `build.ts` through `define` with the release's version string. It is never declared at runtime
 * when running from source, so it is only ever read behind `typeof`, which does not throw for undeclared names.
 */
declare const FLYWHEEL_VERSION: string | undefined;

/**
 * The version of this flywheel: the one `build.ts` baked into the compiled binary, or `package.json`'s when
 * running from source (`bun src/cli/main.ts`, or installed from npm).
 */
export const VERSION: string = typeof FLYWHEEL_VERSION === "string" ? FLYWHEEL_VERSION : pkg.version;
