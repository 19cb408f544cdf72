/** Placeholder: the otel adapter is being written. */
export const ADAPTER = 'otel';
