import { describe } from 'vitest';
import { runScenarios } from '../http/scenarios.js';
import { koaHarness } from './harness.js';

describe('Koa 3', () => runScenarios(koaHarness));
