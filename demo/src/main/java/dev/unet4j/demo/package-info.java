/**
 * The demo models bundled in the {@code unet4j-demo} jar, reachable from code: {@link dev.unet4j.demo.DemoModels}.
 */
package dev.unet4j.demo;
