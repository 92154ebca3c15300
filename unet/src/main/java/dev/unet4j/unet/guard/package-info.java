/**
 * Opt-in run-time guards for services: {@link dev.unet4j.unet.guard.NonFiniteGuard} fails a call at the first node
 * that produces NaN or infinities, {@link dev.unet4j.unet.guard.CancellationGuard} stops a call at the next node after an
 * interrupt or a cancel flag, and {@link dev.unet4j.unet.Interceptors#chain} composes it with another
 * interceptor such as a feature cache's.
 */
package dev.unet4j.unet.guard;
