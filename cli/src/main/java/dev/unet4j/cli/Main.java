package dev.unet4j.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.Arrays;

/**
 * The {@code unet4j} command line. Exit codes: 0 success, 1 bad input or a failed run (message on stderr, at most
 * three lines, no stack trace unless {@code --verbose}), 2 usage errors (unknown option, missing value, conflicting
 * options).
 */
public final class Main {
    public static final int EXIT_OK = 0;
    public static final int EXIT_BAD_INPUT = 1;
    public static final int EXIT_USAGE = 2;

    private Main() {
    }

    public static void main(String[] args) {
        java.util.OptionalInt child = Relaunch.ifNeeded(args); // OpenMP settings need a fresh process
        if (child.isPresent()) System.exit(child.getAsInt());
        Logging.configure(Arrays.asList(args).contains("--verbose"));
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs one command line with the given streams (tests call this in-process) and returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        Logging.configure(Arrays.asList(args).contains("--verbose")); // no effect once a logger exists
        return execute(commandLine(out, err), args);
    }

    /**
     * {@code cl.execute(args)}, with the {@link Error}s picocli lets through (it routes only {@link Exception}s to the
     * handler: {@link OutOfMemoryError}, {@link InternalError}, ...) turned into the same short message and exit 1.
     */
    static int execute(CommandLine cl, String... args) {
        try {
            return cl.execute(args);
        } catch (Error e) {
            PrintWriter err = cl.getErr();
            if (Arrays.asList(args).contains("--verbose")) e.printStackTrace(err);
            for (String line : Errors.describe(e)) err.println(line);
            err.flush();
            return EXIT_BAD_INPUT;
        }
    }

    /** The configured picocli command line (subcommands, exit codes, error handlers). */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new UnetCommand());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler(Errors::onUsageError);
        cl.setExecutionExceptionHandler(Errors::onExecutionError);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }
}
