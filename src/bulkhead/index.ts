// Public API of this policy family; re-exported by src/index.ts.
export {};
