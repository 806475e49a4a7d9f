const socket = io('http://localhost:5000');
socket.on('connect', () => {
console.log('Connected to server');
// Join job room
socket.emit('join_job', { job_id: '550e8400-e29b-41d4-a716-446655440000' });
});
socket.on('job_progress', (data) => {
console.log(`Progress: ${data.progress.percent}% - ${data.progress.message}`);
});
socket.on('job_completed', (data) => {
console.log('Job completed!', data.result);
});
socket.on('job_failed', (data) => {
console.error('Job failed:', data.error);
});

