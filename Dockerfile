# Self-hosted grading: the course and its grader on Debian 12.
#   docker build -t kata-grader .
#   docker run --rm -v "$PWD/subs:/subs" kata-grader kata grade "/subs/*" --json /subs/results.jsonl
# The grading is the same `kata grade` as outside (tested outside, in tools/tests/).
FROM debian:12

# The course's packages (tools/katalib/prereqs.py), the grader's (autograder.GRADER_PACKAGES),
# and tini: an init that reaps the orphans of graded code (kata as PID 1 would not, and the
# grader waits until the sandbox user has no process left, zombies included).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        bubblewrap \
        cmake \
        g++ \
        libbenchmark-dev \
        libgmock-dev \
        libgtest-dev \
        libopenmpi-dev \
        libtbb-dev \
        ninja-build \
        openmpi-bin \
        python3 \
        tini \
    && rm -rf /var/lib/apt/lists/*

COPY . /kata
# The reference solutions (for --bench) stay out of the submissions' reach: their
# code runs as a user of its own.
RUN if [ -d /kata/solutions ]; then chmod -R go-rwx /kata/solutions; fi \
    && ln -s /kata/kata /usr/local/bin/kata
WORKDIR /kata
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["kata", "grade", "--help"]
