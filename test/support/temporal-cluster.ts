// The starter moved to runtime/ so the benchmark (bench/stack.ts, --temporal=cluster) can use it without importing test code.
export { startTemporalCluster, type ClusterCertificates, type TemporalCluster, type TemporalClusterOptions } from '../../runtime/temporal-cluster';
