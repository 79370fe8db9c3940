export * from './events';
export * from './dialogue';
export * from './prompts';
export * from './settings';
export * from './check-sync';
