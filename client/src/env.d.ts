/** True only in `vite build --mode e2ee-test`; production builds compile test hooks out. */
declare const __E2EE_TEST_HOOKS__: boolean;
