import { describe } from 'vitest';
import { runScenarios } from '../http/scenarios.js';
import { compileNestApps } from './compile.js';
import { nestHarness } from './harness.js';

compileNestApps();

describe('NestJS 12 on Express', () => runScenarios(nestHarness('express')));
describe('NestJS 12 on Fastify', () => runScenarios(nestHarness('fastify')));
