/* Keeps the weirtest library non-empty before any support module exists. */
int wr_test_support_present;
