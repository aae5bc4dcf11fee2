/**
 * Where peer and "ours" processes run: one long-lived container per suite
 * (host network, repository and work folder bind-mounted at the same paths),
 * or — when no Docker engine can run — the same suite's rootfs folder through
 * `chroot` on the host network. Either way a process is just a {@link Proc}.
 * @module
 */
import { Proc } from "./proc.ts";
import type { Suite } from "./types.ts";

/** Options for one process. */
export interface SpawnOptions {
  label: string;
  /** Hard limit: the process is killed (inside the container too) after this. */
  deadlineMs: number;
  env?: Record<string, string>;
}

/** A place that runs processes of a given suite. */
export interface Host {
  readonly kind: "docker" | "chroot";
  /** Human-readable line for the run's header. */
  describe(): string;
  start(suites: Suite[]): Promise<void>;
  spawn(suite: Suite, argv: string[], opts: SpawnOptions): Proc;
  stop(): Promise<void>;
}

/** `timeout` inside the container/chroot, so a process never outlives its cell. */
function bounded(argv: string[], deadlineMs: number): string[] {
  const secs = Math.max(1, Math.ceil(deadlineMs / 1000));
  return ["timeout", "-k", "2", String(secs), ...argv];
}

function envArgs(env: Record<string, string> | undefined, flag: string): string[] {
  return Object.entries(env ?? {}).flatMap(([k, v]) => flag ? [flag, `${k}=${v}`] : [`${k}=${v}`]);
}

/** Handle on a started container, whatever started it. */
interface Started {
  id: string;
  stop(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** Containers through testcontainers when the package is installed, else the docker CLI. */
export class DockerHost implements Host {
  readonly kind = "docker" as const;
  readonly #containers = new Map<Suite, Started>();
  readonly #mounts: string[];
  readonly #image: (s: Suite) => string;
  readonly #env: (s: Suite) => Record<string, string>;
  #via = "docker CLI";

  /** `mounts` are host paths bind-mounted at the same path inside; `env` is set for every process. */
  constructor(mounts: string[], image: (s: Suite) => string, env: (s: Suite) => Record<string, string>) {
    this.#mounts = mounts;
    this.#image = image;
    this.#env = env;
  }

  describe(): string {
    return `Docker containers (one per suite, --network host, started via ${this.#via})`;
  }

  async start(suites: Suite[]): Promise<void> {
    Deno.env.set("TESTCONTAINERS_RYUK_DISABLED", "true");
    await Promise.all(suites.map(async (s) => {
      this.#containers.set(s, await this.#startOne(s));
    }));
  }

  async #startOne(suite: Suite): Promise<Started> {
    const tc = await loadTestcontainers();
    if (tc) {
      this.#via = "testcontainers";
      const c = await new tc.GenericContainer(this.#image(suite))
        .withNetworkMode("host")
        .withBindMounts(this.#mounts.map((m) => ({ source: m, target: m, mode: "rw" as const })))
        .withCommand(["sleep", "infinity"])
        .withLabels({ "jsec.interop": String(Deno.pid) })
        .start();
      return { id: c.getId(), stop: async () => void (await c.stop({ timeout: 1 })) };
    }
    const id = await run("docker", [
      "run",
      "-d",
      "--rm",
      "--init",
      "--network",
      "host",
      "--label",
      `jsec.interop=${Deno.pid}`,
      ...this.#mounts.flatMap((m) => ["-v", `${m}:${m}`]),
      this.#image(suite),
      "sleep",
      "infinity",
    ]);
    return { id, stop: async () => void (await run("docker", ["rm", "-f", id]).catch(() => "")) };
  }

  spawn(suite: Suite, argv: string[], opts: SpawnOptions): Proc {
    const c = this.#containers.get(suite);
    if (!c) throw new Error(`no container for ${suite}`);
    const cmd = [
      "docker",
      "exec",
      "-i",
      "-w",
      Deno.cwd(),
      ...envArgs({ ...this.#env(suite), ...opts.env }, "-e"),
      c.id,
      ...bounded(argv, opts.deadlineMs),
    ];
    return new Proc(cmd, opts.label, opts.deadlineMs + 5000);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#containers.values()].map((c) => c.stop().catch(() => {})));
    this.#containers.clear();
  }
}

/** Minimal shape of the testcontainers API we use. */
interface TcContainer {
  getId(): string;
  stop(o: { timeout: number }): Promise<unknown>;
}
interface TcGeneric {
  withNetworkMode(m: string): TcGeneric;
  withBindMounts(m: Array<{ source: string; target: string; mode: "rw" }>): TcGeneric;
  withCommand(c: string[]): TcGeneric;
  withLabels(l: Record<string, string>): TcGeneric;
  start(): Promise<TcContainer>;
}
interface TcModule {
  GenericContainer: new (image: string) => TcGeneric;
}

let tcCache: Promise<TcModule | null> | undefined;
/** testcontainers if installed (package.json devDependency), else null. */
function loadTestcontainers(): Promise<TcModule | null> {
  const spec = "testcontainers";
  tcCache ??= import(spec).then((m) => m as TcModule).catch(() => null);
  return tcCache;
}

/** The same suites' rootfs folders through chroot, sharing the host network. */
export class ChrootHost implements Host {
  readonly kind = "chroot" as const;
  readonly #rootfs: (s: Suite) => string;
  readonly #mounts: string[];
  readonly #mounted: string[] = [];
  readonly #env: (s: Suite) => Record<string, string>;

  /** `mounts` are host paths bind-mounted at the same path inside; `env` is set for every process. */
  constructor(mounts: string[], rootfs: (s: Suite) => string, env: (s: Suite) => Record<string, string>) {
    this.#mounts = mounts;
    this.#rootfs = rootfs;
    this.#env = env;
  }

  describe(): string {
    return "chroot into the cached rootfs folders on the host network (no Docker engine)";
  }

  async start(suites: Suite[]): Promise<void> {
    for (const s of suites) {
      const root = this.#rootfs(s);
      const binds = ["/proc", "/dev", "/sys", ...this.#mounts];
      for (const m of binds) {
        const target = `${root}${m}`;
        await Deno.mkdir(target, { recursive: true });
        const already = (await Deno.readTextFile("/proc/mounts")).includes(` ${target} `);
        if (already) continue;
        await run("mount", ["--rbind", m, target]);
        this.#mounted.unshift(target);
      }
      // debootstrap leaves no /etc/hosts: "localhost" must resolve as it does in a container.
      for (const f of ["/etc/resolv.conf", "/etc/hosts"]) {
        await Deno.copyFile(f, `${root}${f}`).catch(() => {});
      }
    }
  }

  spawn(suite: Suite, argv: string[], opts: SpawnOptions): Proc {
    const cmd = [
      "chroot",
      this.#rootfs(suite),
      "env",
      "DENO_NO_UPDATE_CHECK=1",
      ...envArgs({ ...this.#env(suite), ...opts.env }, ""),
      "sh",
      "-c",
      'cd "$0" && exec "$@"',
      Deno.cwd(),
      ...bounded(argv, opts.deadlineMs),
    ];
    return new Proc(cmd, opts.label, opts.deadlineMs + 5000);
  }

  async stop(): Promise<void> {
    for (const t of this.#mounted) {
      await run("umount", ["-R", "-l", t]).catch(() => "");
    }
    this.#mounted.length = 0;
  }
}
