/** Placeholder: the koa adapter is being written. */
export const ADAPTER = 'koa';
