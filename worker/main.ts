import 'reflect-metadata';
import { runProcess } from '../runtime/process-main';

// `npm run worker`: the Temporal worker only; replicas share the task queue.
void runProcess({ api: false, worker: true });
