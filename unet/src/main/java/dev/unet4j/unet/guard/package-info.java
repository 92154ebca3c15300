/**
 * Opt-in run-time guards for services: {@link dev.unet4j.unet.guard.NonFiniteGuard} fails a call at the first node
 * that produces NaN or infinities, and {@link dev.unet4j.unet.guard.Interceptors#chain} composes it with another
 * interceptor such as a feature cache's.
 */
package dev.unet4j.unet.guard;
