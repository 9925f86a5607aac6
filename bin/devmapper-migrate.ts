#!/usr/bin/env node
import { ignoreClosedStdout, main } from '../src/cli/main.js';

ignoreClosedStdout();

process.exitCode = await main(process.argv.slice(2));
