# The kernel embedding's include errors (cmake/embed_cl.cmake), run by ctest as
#   cmake -DEMBED=<embed_cl.cmake> -DDIR=<scratch dir> -P tests/embed_cl_errors.cmake
# Each case is a kernel file whose include cannot be resolved: the embedding must fail,
# name the file, the line and the problem, and write no output. (The includes that do
# resolve are checked on the embedded table itself, by tests/test_runtime.c.)
cmake_minimum_required(VERSION 3.18)
file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}/include")
file(WRITE "${DIR}/include/loop.cl" "int b;\n#include \"loop.cl\"\n")
file(WRITE "${DIR}/include/ok.cl" "int c;\n")

set(failures 0)
# check(name text expected): a kernel file name.cl holding text must fail to embed with a
# message matching expected.
function(check name text expected)
  file(WRITE "${DIR}/${name}.cl" "${text}")
  execute_process(
    COMMAND ${CMAKE_COMMAND} -DOUT=${DIR}/out.c -DFILES=${DIR}/${name}.cl
            -DINCLUDE_DIR=${DIR}/include -P ${EMBED}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX REPLACE "[ \n]+" " " err "${err}") # messages are wrapped
  if(rc EQUAL 0 OR NOT err MATCHES "${expected}" OR EXISTS "${DIR}/out.c")
    message(SEND_ERROR "${name}: rc ${rc}, expected an error matching '${expected}', got: ${err}")
  else()
    message(STATUS "${name}: refused as expected")
  endif()
endfunction()

check(missing "/* a kernel */\nint a;\n  #include \"no_such.cl\"\n"
      "cl/missing.cl:3: #include \"no_such.cl\": no file .*/include/no_such.cl")
check(angle "#include <stdio.h>\n" "cl/angle.cl:1: cannot embed `#include <stdio.h>`")
check(path "#include \"ok.cl\"\n#include \"../ok.cl\"\n" "cl/path.cl:2: cannot embed `#include \"../ok.cl\"`")
check(circular "int a;\n#include \"loop.cl\"\n"
      "cl/include/loop.cl:2: #include \"loop.cl\" is circular: .*circular.cl -> .*loop.cl -> .*loop.cl")
