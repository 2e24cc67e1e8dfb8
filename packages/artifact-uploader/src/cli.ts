#!/usr/bin/env node
// The `spark-mesos-upload` command; see upload-command.ts.
import { runUploadCommand } from './upload-command.js';

process.exitCode = await runUploadCommand(process.argv.slice(2));
