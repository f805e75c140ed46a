import 'reflect-metadata';
import { runProcess } from '../runtime/process-main';

// `npm run api`: the HTTP API only; run as many replicas as needed behind a load balancer.
void runProcess({ api: true, worker: false });
