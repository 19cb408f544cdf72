/** Placeholder: the hono adapter is being written. */
export const ADAPTER = 'hono';
