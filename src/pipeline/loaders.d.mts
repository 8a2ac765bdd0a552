/** Registers tsx and the node-module resolve hook on the current thread (idempotent). */
export function registerLoaders(): void;
