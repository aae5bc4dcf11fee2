/**
 * The Docker engine: use a running one, or install Debian's docker.io and start
 * `dockerd` in the background, remembering its PID so that we stop exactly the
 * daemon we started. Reports null when no engine can run (chroot fallback).
 * @module
 */

/** A usable engine and how to let go of it. */
export interface Engine {
  /** True when this run started dockerd (and so must stop it). */
  startedByUs: boolean;
  pid?: number;
  stop(): Promise<void>;
}

async function ok(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function engineAnswers(): Promise<boolean> {
  return await ok("docker", ["info"]);
}

/** PIDs of other interop runs whose containers (label `jsec.interop=<pid>`) are up on this engine. */
async function otherRuns(): Promise<string[]> {
  const out = await new Deno.Command("docker", {
    args: ["ps", "--filter", "label=jsec.interop", "--format", '{{.Label "jsec.interop"}}'],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  const pids = new TextDecoder().decode(out?.stdout ?? new Uint8Array()).split("\n").map((s) => s.trim());
  return [...new Set(pids.filter((p) => p && p !== String(Deno.pid)))];
}

/**
 * Before stopping the dockerd this run started: wait (bounded) for other runs
 * that came to use it meanwhile, so that stopping it does not break their cells.
 */
async function waitForOtherRuns(log: (s: string) => void): Promise<void> {
  const deadline = Date.now() + 60 * 60_000;
  for (let i = 0; i < 720 && Date.now() < deadline; i++) {
    const others = await otherRuns();
    if (others.length === 0) return;
    if (i % 12 === 0) {
      log(`dockerd still serves interop run(s) ${others.join(", ")}: waiting before stopping it`);
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}

async function which(name: string): Promise<boolean> {
  return await ok("sh", ["-c", `command -v ${name} || test -x /usr/sbin/${name}`]);
}

/** Install docker.io when dockerd is missing (apt-get update only if needed). */
async function installDocker(log: (s: string) => void): Promise<void> {
  if (await which("dockerd") && await which("docker")) return;
  log("installing docker.io (Debian)");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = ["install", "-y", "-qq", "docker.io"];
  const first = await new Deno.Command("apt-get", { args: install, env, stdout: "null", stderr: "null" })
    .output().catch(() => null);
  if (first?.success) return;
  await new Deno.Command("apt-get", { args: ["update", "-qq"], stdout: "null", stderr: "null" }).output();
  await new Deno.Command("apt-get", { args: install, env, stdout: "null", stderr: "null" }).output();
}

/**
 * Make sure a Docker engine answers. Returns null when none can be had
 * (`JSEC_INTEROP_NO_DOCKER=1` forces that, to exercise the chroot fallback).
 */
export async function ensureEngine(log: (s: string) => void, cacheDir: string): Promise<Engine | null> {
  if (Deno.env.get("JSEC_INTEROP_NO_DOCKER") === "1") return null;
  if (await engineAnswers()) return { startedByUs: false, stop: async () => {} };
  await installDocker(log);
  if (!await which("dockerd")) return null;
  await Deno.mkdir(cacheDir, { recursive: true });
  const logFile = `${cacheDir}/dockerd.log`;
  log(`starting dockerd in the background (log: ${logFile})`);
  const child = new Deno.Command("sh", {
    args: ["-c", `exec dockerd >"${logFile}" 2>&1`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const pid = child.pid;
  let exited = false;
  const status = child.status.then(() => (exited = true));
  for (let i = 0; i < 60 && !exited; i++) {
    if (await engineAnswers()) {
      log(`dockerd ready (pid ${pid})`);
      return {
        startedByUs: true,
        pid,
        stop: async () => {
          await waitForOtherRuns(log);
          try {
            Deno.kill(pid, "SIGTERM");
          } catch {
            return;
          }
          const t = setTimeout(() => {
            try {
              Deno.kill(pid, "SIGKILL");
            } catch { /* gone */ }
          }, 15_000);
          await status;
          clearTimeout(t);
        },
      };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  log("dockerd did not come up; falling back to chroot");
  try {
    Deno.kill(pid, "SIGTERM");
  } catch { /* gone */ }
  return null;
}
