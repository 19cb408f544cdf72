/**
 * Under `experimentalDecorators`, frameworks such as NestJS record routes and guards on a method's function
 * with reflect-metadata; a policy decorator listed above them replaces that function, and must carry what
 * they recorded over to its wrapper.
 */
import 'reflect-metadata';
import { expect, test } from 'vitest';
import { retry } from '../../src/index.js';

const ROUTE = 'path';

test('a legacy policy decorator keeps the metadata that decorators below it recorded on the method', async () => {
  class Controller {
    async get(): Promise<string> {
      return 'ok';
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(Controller.prototype, 'get') as PropertyDescriptor;
  // What `@Get('/prices')` does first (decorators apply bottom-up)...
  Reflect.defineMetadata(ROUTE, '/prices', descriptor.value);
  // ...then `@retry(...)` above it.
  (retry({ maxAttempts: 2, backoff: 0 }) as unknown as (t: object, k: string, d: PropertyDescriptor) => void)(
    Controller.prototype,
    'get',
    descriptor,
  );
  Object.defineProperty(Controller.prototype, 'get', descriptor);
  const wrapped = Controller.prototype.get;
  expect(Reflect.getOwnMetadata(ROUTE, wrapped)).toBe('/prices');
  expect(await new Controller().get()).toBe('ok');
});
