import { describe } from 'vitest';
import { fastifyHarness } from '../http/harness.js';
import { runScenarios } from '../http/scenarios.js';

describe('Fastify 5', () => runScenarios(fastifyHarness));
