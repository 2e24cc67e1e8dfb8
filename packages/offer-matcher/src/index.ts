export {
  type AttributeConstraints,
  formatAttributeValue,
  matchesAttributeRequirements,
  parseConstraintString,
  type UnmetConstraint,
  unmetConstraints,
} from './constraints.js';
export {
  countRanges,
  isReserved,
  mergeRanges,
  type RangeRequest,
  type ResourceFilterOptions,
  type ResourceRequest,
  rangesContain,
  rangesOf,
  reservationRole,
  resourcePoolKey,
  roundScalar,
  SCALAR_DECIMALS,
  subtractRanges,
  sumScalar,
  type TakeResult,
  takeResources,
  usableResources,
} from './resources.js';
export {
  type OfferMatcherSettings,
  offerMatcherSettingsFrom,
  type PlacementPolicy,
  type ResolvedOfferMatcherSettings,
  resolveOfferMatcherSettings,
} from './settings.js';
export { coarseExecutorCores, effectiveCoresMax, executorMemoryMiB, MEMORY_OVERHEAD_MINIMUM_MIB } from './sizing.js';
