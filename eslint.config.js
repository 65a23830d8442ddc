// ESLint flat config: typescript-eslint's recommended rules over the TypeScript host, tests,
// benches and scripts. The AssemblyScript core is checked by asc itself (its decorators and
// builtins are not TypeScript), so assembly/ is ignored here.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "build/", "assembly/", "**/*.generated.*", "bench/native/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.browser },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
