/**
 * Bringing the machine to a runnable state: rootfs per suite, then either
 * the Docker images (engine available) or the chroot folders (fallback).
 * The heavy lifting is in interop/setup/*.sh; this file picks and calls them.
 * @module
 */
import { type Engine, ensureEngine } from "./engine.ts";
import { ChrootHost, DockerHost, type Host } from "./hosts.ts";
import type { Suite } from "./types.ts";

/** Where things are cached (rootfs, images' build context, shims, certificates). */
export const CACHE: string = Deno.env.get("JSEC_INTEROP_CACHE") ?? "/var/cache/jsec-interop";

/** The tool image's name, tagged by suite (`JSEC_INTEROP_IMAGE` overrides it, as in setup/common.sh). */
const IMAGE: string = Deno.env.get("JSEC_INTEROP_IMAGE") ?? "jsec-interop";

async function script(name: string, suites: Suite[], log: (s: string) => void): Promise<void> {
  const path = new URL(`../setup/${name}`, import.meta.url).pathname;
  const t0 = Date.now();
  const out = await new Deno.Command("bash", {
    args: [path, ...suites],
    env: { JSEC_INTEROP_CACHE: CACHE },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`${name} failed (exit ${out.code})`);
  log(`${name} ${suites.join(" ")}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** Environment of every process in a suite: a persistent Deno cache per suite (compiled modules survive runs). */
function processEnv(suite: Suite): Record<string, string> {
  return { DENO_DIR: `${CACHE}/work/deno-${suite}`, DENO_NO_UPDATE_CHECK: "1" };
}

/** A host ready to run processes of `suites`, and the engine to stop at the end. */
export interface Ready {
  host: Host;
  engine: Engine | null;
}

/** Build what is missing and return a host to run on (Docker, else chroot). */
export async function prepare(
  suites: Suite[],
  mounts: string[],
  build: boolean,
  log: (s: string) => void,
): Promise<Ready> {
  const engine = await ensureEngine(log, CACHE);
  if (build) await script("rootfs.sh", suites, log);
  if (engine) {
    try {
      if (build) await script("images.sh", suites, log);
      const host = new DockerHost(mounts, (s) => `${IMAGE}:${s}`, processEnv);
      await host.start(suites);
      return { host, engine };
    } catch (e) {
      log(`Docker unusable (${(e as Error).message}); falling back to chroot`);
      await engine.stop();
    }
  }
  if (build) await script("chroot.sh", suites, log);
  const host = new ChrootHost(mounts, (s) => `${CACHE}/rootfs/${s}`, processEnv);
  await host.start(suites);
  return { host, engine: null };
}
