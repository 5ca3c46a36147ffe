#!/bin/bash
# VPL runs this first when a submission is evaluated ("compilation"), in the task's home
# folder, which holds the student's files and the activity's execution files.  It unpacks
# the grader (chatgrade.zip, built by `python -m harness package vpl`) into .chatgrade/ and
# writes vpl_execution, the program VPL then runs and whose output becomes the grade and
# the comments.  Nothing is downloaded; the grader's dependencies are in the zip.
#
# VPL deletes the execution files that are not "files to keep when running" before it
# starts vpl_execution; .chatgrade/ is made here, so it stays.  What this script prints is
# shown to the student as compilation output: it prints nothing unless the bundle is broken,
# and then vpl_execution explains it (no grade line: VPL proposes no grade).

broken() {
    {
        echo '#!/bin/bash'
        echo "cat <<'CHATGRADE_END'"
        echo '<|--'
        echo '-Проверка не выполнена: пакет проверки не запустился'
        echo 'Это не оценка вашего решения: сообщите преподавателю. Причина:'
        printf '%s\n' "$@" | while IFS= read -r line; do printf '>%s\n' "$line"; done
        echo '--|>'
        echo 'CHATGRADE_END'
    } >vpl_execution
    chmod +x vpl_execution
    exit 0
}

PYTHON=""
for candidate in python3 /usr/bin/python3 /usr/local/bin/python3; do
    found=$(command -v "$candidate" 2>/dev/null) || continue
    if "$found" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        PYTHON=$found
        break
    fi
done
[ -n "$PYTHON" ] || broken "в песочнице VPL нет python3 версии 3.9 или новее"
[ -f chatgrade.zip ] || broken "среди файлов для выполнения нет chatgrade.zip"

rm -rf .chatgrade
if ! errors=$("$PYTHON" -I -S -m zipfile -e chatgrade.zip .chatgrade 2>&1); then
    broken "chatgrade.zip не распаковался:" "$errors"
fi
if ! errors=$("$PYTHON" -I -S .chatgrade/boot.py install 2>&1); then
    broken "$errors"
fi

cat >vpl_execution <<EOF
#!/bin/bash
# Written by vpl_evaluate.sh: grade the submission with the chat-lab harness.
[ -f vpl_environment.sh ] && . ./vpl_environment.sh >/dev/null 2>&1
exec "$PYTHON" -I -S -B .chatgrade/boot.py run harness.vpl.runtime
EOF
chmod +x vpl_execution
