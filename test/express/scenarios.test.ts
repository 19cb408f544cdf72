import { describe } from 'vitest';
import { express4Harness, express5Harness } from '../http/harness.js';
import { runScenarios } from '../http/scenarios.js';

describe('Express 5', () => runScenarios(express5Harness));
describe('Express 4', () => runScenarios(express4Harness));
