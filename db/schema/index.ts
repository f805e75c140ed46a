export * from './identity';
export * from './links';
export * from './dep';
