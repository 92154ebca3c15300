/**
 * Training noise schedules ({@link dev.unet4j.samplers.schedule.NoiseSchedule}), timestep spacing, Karras sigmas and
 * {@code scheduler_config.json}, computed as torch does in float32 and float64.
 */
package dev.unet4j.samplers.schedule;
