package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsException;
import dev.unet4j.unet.WeightMismatchException;
import picocli.CommandLine;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns failures into at most three lines on stderr: what is wrong and where (file, tensor, option), never a stack
 * trace unless {@code --verbose}. Usage errors exit with 2, everything else with 1.
 */
final class Errors {
    static final int MAX_LINES = 3;
    private static final int MAX_LINE_CHARS = 300;
    private static final int NAMES_SHOWN = 3;

    private Errors() {
    }

    static int onUsageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("error: " + firstLine(e.getMessage()).replaceFirst("^Error: ", ""));
        String name = cmd.getCommandSpec().qualifiedName();
        err.println("Try '" + name + " --help' for the options and examples.");
        err.flush();
        return Main.EXIT_USAGE;
    }

    static int onExecutionError(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        if (verbose(parsed)) e.printStackTrace(err);
        for (String line : describe(e)) err.println(line);
        err.flush();
        return e instanceof CommandLine.ParameterException ? Main.EXIT_USAGE : Main.EXIT_BAD_INPUT;
    }

    private static boolean verbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }

    /** The lines to print for {@code e}: at most {@value #MAX_LINES}, the first starting with "error: ". */
    static List<String> describe(Throwable e) {
        List<String> lines = new ArrayList<>();
        Throwable t = unwrap(e);
        if (t instanceof WeightMismatchException w) {
            List<WeightMismatchException.Problem> ps = w.problems();
            lines.add("error: " + firstLine(w.getMessage()));
            List<String> names = ps.stream().limit(NAMES_SHOWN).map(p -> p.toString().replaceAll("\\s+", " ")).toList();
            lines.add("  first: " + String.join("; ", names) + (ps.size() > NAMES_SHOWN ? "; ..." : ""));
            lines.add("  (run with --verbose for the full list)");
        } else if (t instanceof NoSuchFileException n) {
            lines.add("error: no such file or folder: " + n.getFile() + (n.getReason() == null ? "" : " " + n.getReason()));
        } else if (t instanceof AccessDeniedException a) {
            lines.add("error: permission denied: " + a.getFile());
        } else if (t instanceof FileNotFoundException f) {
            lines.add("error: " + f.getMessage());
        } else if (t instanceof UserException || t instanceof IOException || t instanceof IllegalArgumentException
                || t instanceof SafetensorsException || isLibraryInputError(t)) {
            String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            String[] split = msg.strip().split("\\R");
            for (int i = 0; i < split.length && lines.size() < MAX_LINES; i++) {
                lines.add((i == 0 ? "error: " : "  ") + split[i].strip());
            }
            if (split.length > MAX_LINES) lines.set(MAX_LINES - 1, lines.get(MAX_LINES - 1) + " ...");
        } else if (t instanceof OutOfMemoryError) {
            lines.add("error: out of memory (" + t.getMessage() + "); try a smaller --batch or size, or a larger -Xmx");
        } else {
            lines.add("error: internal error: " + t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + firstLine(t.getMessage())));
            lines.add("  (run with --verbose for the stack trace)");
        }
        return lines.stream().limit(MAX_LINES).map(Errors::clip).toList();
    }

    /** Exceptions the library throws for bad models and inputs (config and model errors of other modules). */
    private static boolean isLibraryInputError(Throwable t) {
        String n = t.getClass().getName();
        return n.startsWith("dev.unet4j.") && (n.endsWith("ConfigException") || n.endsWith("ModelException")
                || n.endsWith("UnsupportedConfigException") || n.endsWith("DnnlException")
                || n.endsWith("NonFiniteLatentsException"));
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        for (int depth = 0; depth < 8; depth++) {
            if (t instanceof CommandLine.ExecutionException && t.getCause() != null) {
                t = t.getCause();
            } else if (t instanceof UncheckedIOException u) {
                IOException c = u.getCause();
                boolean ownMessage = u.getMessage() != null && !u.getMessage().equals(String.valueOf(c));
                if (!ownMessage || c instanceof NoSuchFileException || c instanceof AccessDeniedException) {
                    t = c;
                } else {
                    return new IOException(u.getMessage() + ": " + c.getMessage()); // keep which file and why
                }
            } else {
                break;
            }
        }
        return t;
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        String[] lines = s.strip().split("\\R", 2);
        return lines[0];
    }

    private static String clip(String line) {
        String safe = printable(line);
        return safe.length() <= MAX_LINE_CHARS ? safe : safe.substring(0, MAX_LINE_CHARS - 3) + "...";
    }

    /**
     * Control characters (from tensor names, keys or paths in a hostile file) escaped as a backslash-u code point: raw escape
     * bytes would reach the terminal and could rewrite what it shows.
     */
    static String printable(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069')) {
                if (b == null) b = new StringBuilder(s.substring(0, i));
                b.append(String.format("\\u%04x", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }
}
