// selftest: minimal boot smoke (to be extended).
#include "rt/report.h"

int main(int argc, char** argv) {
  report(argc >= 1, "argc %d", argc);
  (void)argv;
  return report_summary();
}
