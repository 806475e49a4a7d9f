// Runs the contract's Socket.IO example (contract_example.js, copied word for word) with
// socket.io-client. Only the server URL and the example job id are replaced, from
// CLEAN_TRACKS_URL and JOB_ID; the process exits once the job completes or fails.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

global.io = require('socket.io-client').io;
const example = fs
  .readFileSync(path.join(__dirname, 'contract_example.js'), 'utf8')
  .replace('http://localhost:5000', process.env.CLEAN_TRACKS_URL)
  .replace('550e8400-e29b-41d4-a716-446655440000', process.env.JOB_ID);
vm.runInThisContext(example, { filename: 'contract_example.js' });
vm.runInThisContext(`
  socket.on('job_completed', () => setTimeout(() => process.exit(0), 100));
  socket.on('job_failed', () => setTimeout(() => process.exit(3), 100));
`);
setTimeout(() => {
  console.error('timed out waiting for the job to finish');
  process.exit(2);
}, Number(process.env.TIMEOUT_MS || 240000));
