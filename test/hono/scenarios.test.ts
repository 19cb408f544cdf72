import { describe } from 'vitest';
import { runScenarios } from '../http/scenarios.js';
import { honoHarness } from './harness.js';

describe('Hono 4 on @hono/node-server', () => runScenarios(honoHarness));
