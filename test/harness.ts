/**
 * One `test()` for both runtimes: `Deno.test` under Deno, `bun:test` under Bun.
 * Test files import `test` from here and assert with `node:assert/strict`.
 *
 * @module
 */

/** Options for {@link test}. */
export interface TestOptions {
  /** Milliseconds before the test fails (Bun's default of 5 s is too short for bulk tests). */
  timeout?: number;
  /** Skip with this reason (shown in the runner's output). */
  skip?: string | false;
}

type Register = (name: string, fn: () => Promise<void> | void, options: TestOptions) => void;

async function pickRunner(): Promise<Register> {
  if ("Bun" in globalThis) {
    const specifier = "bun:test"; // not a module Deno can resolve
    const bun = (await import(specifier)) as {
      test: ((name: string, fn: () => Promise<void> | void, timeout?: number) => void) & {
        skip: (name: string, fn: () => void) => void;
      };
    };
    return (name, fn, options) => {
      if (options.skip) bun.test.skip(`${name} (${options.skip})`, () => {});
      else bun.test(name, fn, options.timeout ?? 30_000);
    };
  }
  return (name, fn, options) => {
    Deno.test({ name: options.skip ? `${name} (${options.skip})` : name, ignore: !!options.skip, fn });
  };
}

const register = await pickRunner();

/** Declares a test; runs under `deno test` and `bun test` alike. */
export function test(name: string, fn: () => Promise<void> | void, options: TestOptions = {}): void {
  register(name, fn, options);
}
