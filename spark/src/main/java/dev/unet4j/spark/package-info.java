/**
 * Apache Spark integration: {@link dev.unet4j.spark.Unet4jGenerator}, a Spark ML {@code Transformer} that turns a
 * DataFrame of generation requests (prompts or class labels, seeds, per-row settings) into PNG images, with one loaded
 * model per executor JVM ({@link dev.unet4j.spark.ExecutorModels}) whose generations run on a fixed per-executor
 * compute pool (so the executor keeps one OpenMP team per task slot), and {@link dev.unet4j.spark.GenerateImages}, an
 * example job (CSV/JSON/Parquet of requests to Parquet and PNG files).
 */
package dev.unet4j.spark;
