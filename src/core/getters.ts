/**
 * Own enumerable getters that keep V8's fast properties. An accessor whose function differs from one
 * object to the next (any accessor written in an object literal or made per object) keeps every object of
 * a kind after the first in dictionary mode, a slow lookup at each read of any of its properties. So the
 * accessor of each name is one function for all objects, and it calls the object's own getter, kept under
 * a symbol. Used by policies (a breaker's `state`), limiters (`limit`) and retry budgets (`balance`).
 */

/** Where an object keeps the getters its shared accessors call. */
const GETTERS = Symbol('weir.getters');

type WithGetters = { readonly [GETTERS]: Record<string, () => unknown> };

/** One accessor function per name, shared by every object that has a getter of that name. */
const SHARED = new Map<string, () => unknown>();

function sharedGetter(name: string): () => unknown {
  let get = SHARED.get(name);
  if (get === undefined) {
    get = function (this: WithGetters) {
      return (this[GETTERS][name] as () => unknown)();
    };
    SHARED.set(name, get);
  }
  return get;
}

/**
 * Defines `descriptors` on `target`, in order, each as given except a getter without a setter, which
 * becomes an accessor of the same enumerability through the shared accessor of its name. Each getter must
 * close over its own state, not use `this`.
 */
export function defineMembers<T extends object>(target: T, descriptors: Record<string, PropertyDescriptor>): T {
  const getters: Record<string, () => unknown> = {};
  const defined: Record<string, PropertyDescriptor> = {};
  for (const name of Object.keys(descriptors)) {
    const descriptor = descriptors[name] as PropertyDescriptor;
    if (descriptor.get === undefined || descriptor.set !== undefined) {
      defined[name] = descriptor;
      continue;
    }
    getters[name] = descriptor.get;
    defined[name] = {
      get: sharedGetter(name),
      enumerable: descriptor.enumerable === true,
      configurable: descriptor.configurable === true,
    };
  }
  Object.defineProperty(target, GETTERS, { value: getters });
  return Object.defineProperties(target, defined);
}

/** Defines each of `getters` on `target` as an own enumerable accessor, after its other properties. */
export function defineGetters<T extends object>(target: T, getters: Record<string, () => unknown>): T {
  const descriptors: Record<string, PropertyDescriptor> = {};
  for (const [name, get] of Object.entries(getters)) descriptors[name] = { get, enumerable: true };
  return defineMembers(target, descriptors);
}
