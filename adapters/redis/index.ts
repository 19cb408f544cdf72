/** weir/redis: not implemented yet; this subpath exists so that imports resolve. */
export const implemented = false as const;
