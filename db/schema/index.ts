export * from './identity';
export * from './links';
export * from './dep';
export * from './account-events';
export * from './notifications';
export * from './rate-limits';
export * from './idempotency';
export * from './terms';
