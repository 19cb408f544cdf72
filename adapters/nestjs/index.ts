/** Placeholder: the nestjs adapter is being written. */
export const ADAPTER = 'nestjs';
