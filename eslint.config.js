// Lint: ESLint's and typescript-eslint's recommended rules, plus the layering rule that keeps
// core/ free of adapters and SDKs (STYLE.md: dependencies point inward).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "generated/**", "data/**", "scratch/**", "coverage/**", "jobs/.build*/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
        fetch: "readonly",
        AbortController: "readonly",
        TextDecoder: "readonly",
        TextEncoder: "readonly",
        NodeJS: "readonly",
        performance: "readonly",
        setImmediate: "readonly",
        structuredClone: "readonly",
        Response: "readonly",
        Request: "readonly",
        Headers: "readonly",
        AbortSignal: "readonly",
        queueMicrotask: "readonly",
        Blob: "readonly",
        File: "readonly",
        FormData: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: ["core/**/*.ts"],
    ignores: ["core/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/bot/**", "**/jobs/**"], message: "core/ must not import adapters or jobs" },
            {
              group: ["grammy", "@grammyjs/*", "@slack/*", "openai", "langchain", "@langchain/*", "node-cron"],
              message: "core/ stays free of SDKs: put this at the edge",
            },
          ],
        },
      ],
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "core/ receives configuration; it never reads process.env" },
      ],
    },
  },
);
