import { spawnSync } from "node:child_process";
import { join } from "node:path";

// A promise rejection that nobody handles only shows up at process level, which jest's sandbox
// hides. So the scenarios run in a child Node process with --unhandled-rejections=strict.
function runScenarios(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    [
      "--unhandled-rejections=strict",
      "--import",
      "tsx",
      join(__dirname, "fixtures", "late-rejections.ts"),
      ...args,
    ],
    { cwd: join(__dirname, ".."), encoding: "utf8", timeout: 15_000 },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("late rejections", () => {
  it("leave no unhandled rejection behind in any layer", () => {
    const { status, stdout, stderr } = runScenarios();
    expect(stderr).toBe("");
    expect(stdout).toBe("ok 0\n");
    expect(status).toBe(0);
  });

  it("the check fails when a rejection is left unhandled", () => {
    const { status, stderr } = runScenarios("--leak");
    expect(status).not.toBe(0);
    expect(stderr).toContain("deliberately unhandled");
  });
});
