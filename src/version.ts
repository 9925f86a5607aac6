/** Kept in step with package.json by the release process; printed by --version. */
export const VERSION = '0.1.0';
