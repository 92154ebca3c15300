package dev.unet4j.spark;

import org.apache.spark.sql.SparkSession;

/** One in-process Spark session ({@code local[2]}) for the module's tests, created on first use, stopped at JVM end. */
final class SparkTesting {
    private static SparkSession session;

    private SparkTesting() {
    }

    static synchronized SparkSession spark() {
        if (session == null) {
            session = SparkSession.builder().master("local[2]").appName("unet4j-spark-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .getOrCreate();
            Runtime.getRuntime().addShutdownHook(new Thread(session::stop));
        }
        return session;
    }
}
