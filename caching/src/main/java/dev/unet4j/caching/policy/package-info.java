/**
 * The feature-caching policies, one per paper: DeepCache, encoder propagation, feature inheritance, skip scaling and
 * tuning, balanced and adaptive skipping, CFG cache, T-GATE, forecasting, FreeU; each is parsed from its text form by
 * {@link dev.unet4j.caching.CachePolicies}.
 */
package dev.unet4j.caching.policy;
