package dev.unet4j.cli;

/**
 * slf4j-simple is configured only through system properties read when the first logger is created, so this runs
 * first thing in {@link Main#main}: warnings and errors by default (no start-up chatter), debug with
 * {@code --verbose}. Properties the user set with {@code -D} win.
 */
final class Logging {
    private static final String PREFIX = "org.slf4j.simpleLogger.";

    private Logging() {
    }

    static void configure(boolean verbose) {
        setDefault("defaultLogLevel", verbose ? "debug" : "warn");
        setDefault("logFile", "System.err");
        setDefault("showThreadName", "false");
        setDefault("showShortLogName", "true");
        setDefault("levelInBrackets", "true");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(PREFIX + key) == null) System.setProperty(PREFIX + key, value);
    }
}
