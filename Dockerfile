# syntax=docker/dockerfile:1
# flywheel in a container: the compiled binary on debian-slim, started by tini as PID 1, running as the non-root
# user `flywheel`, state on the volume /var/lib/flywheel, config at /etc/flywheel/flywheel.yaml.
# UNTESTED: written where no Docker daemon was available; docs/INSTALL.md says so too.
#
#   docker build -t flywheel .
#   docker run -d --name flywheel --stop-timeout 45 -p 7741:7741 \
#     -v flywheel-state:/var/lib/flywheel \
#     -v "$PWD/flywheel.yaml:/etc/flywheel/flywheel.yaml:ro" \
#     -e FLYWHEEL_API_TOKEN="$(openssl rand -hex 24)" flywheel
#
# Why tini: PID 1 must reap orphans (a job's `cmd &` that outlives its shell is re-parented to it), and Bun does
# not. Measured with Bun 1.4.5 as PID 1 of a fresh PID namespace (`unshare -pf --mount-proc`): the orphan
# stayed a zombie; under `tini --` it was reaped. tini forwards SIGTERM (flywheel drains) and SIGHUP (reload).
# Why --stop-timeout 45: `docker stop` waits 10 s by default before SIGKILL; a drain takes up to
# runtime.drain_timeout (30 s) plus kill_grace (5 s).

ARG BUN_VERSION=1.4.5

FROM oven/bun:${BUN_VERSION} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN bun install --production --ignore-scripts
COPY build.ts install.sh tsconfig.json ./
COPY src ./src
# The release archive for this platform, unpacked: the same bytes a release would ship.
RUN bun build.ts --target host --outdir /out \
 && tar -xzf /out/flywheel-linux-*.tar.gz -C /out flywheel

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 flywheel \
 && useradd --system --uid 10001 --gid flywheel --home-dir /var/lib/flywheel --no-create-home --shell /usr/sbin/nologin flywheel \
 && install -d -m 0700 -o flywheel -g flywheel /var/lib/flywheel \
 && install -d -m 0755 /etc/flywheel
COPY --from=build /out/flywheel /usr/local/bin/flywheel
COPY contrib/docker/flywheel.yaml /etc/flywheel/flywheel.yaml
# Updates come with a new image: self-update cannot write /usr/local/bin as this user, and the check is off.
ENV FLYWHEEL_CONFIG=/etc/flywheel/flywheel.yaml \
    FLYWHEEL_NO_UPDATE_CHECK=1 \
    HOME=/var/lib/flywheel
USER flywheel:flywheel
WORKDIR /var/lib/flywheel
VOLUME /var/lib/flywheel
EXPOSE 7741
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/flywheel"]
CMD ["serve"]
