// Lint: typescript-eslint's recommended rules, plus the import directions of
// ../shared/STYLE.md held by no-restricted-imports.
import tseslint from "typescript-eslint";

const ours = (dirs) => dirs.flatMap((d) => [`../${d}/*`, `../../${d}/*`]);

export default tseslint.config(
  { ignores: ["dist/**", "**/node_modules/**", "bench/.build/**", ".stryker-tmp/**", "reports/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-function-type": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  // A next() neither awaited nor returned (issue 10, docs/middleware.md):
  // type-aware, so only where middleware is written (it costs about 5 s of
  // CPU on this repo's lint).
  {
    files: ["plugins/**/*.ts", "src/middleware/**/*.ts", "test/fixtures/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { "@typescript-eslint/no-floating-promises": "error" },
  },
  ...directions({
    "src/protocol/**": [["../*"], "protocol/ imports nothing of ours"],
    "src/cluster/**": [ours(["protocol"]), "cluster/ starts servers and never parses frames"],
    "src/{server,plugins,decorators}/**": [ours(["cluster", "cli"]), "process roles sit beside the data path, not inside it"],
    "src/client/**": [
      [...ours(["server", "cluster", "cli", "plugins", "decorators", "middleware"]), "../config.ts", "../log.ts"],
      "the client knows servers only through the wire: it imports protocol/ and errors.ts",
    ],
    "src/*.ts": [[], ""],
    "src/cli/**": [[], ""],
  }),
);

/** One no-restricted-imports rule per folder; inside src nothing imports the package by name. */
function directions(table) {
  return Object.entries(table).map(([files, [group, message]]) => ({
    files: [files],
    ignores: ["src/index.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "forkrpc", message: "inside src, import the module itself, not the package" }],
          patterns: group.length > 0 ? [{ group, message }] : [],
        },
      ],
    },
  }));
}
