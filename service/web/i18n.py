"""The pages' words, Chinese first (the default) and English (the switch at the top of each page)."""

from __future__ import annotations

from models.schema import ERROR_TYPES, ITEM_KINDS, SUBJECTS, SUBJECTS_EN
from models.schema import WEEKDAYS as WEEKDAYS  # the pages' weekday names, shared with the domain

LANGS = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}

KINDS_EN = {"written": "written", "oral": "oral", "reading": "reading", "practical": "practical",
            "physical": "exercise"}  # fmt: skip
ERRORS_EN = {"concept": "concept unclear", "calculation": "calculation", "careless": "careless",
             "reading": "misread the question"}  # fmt: skip
TIERS = {"basic": ("基础（必做）", "basic (required)"), "extension": ("拓展（选做）", "extension (optional)")}
STATUSES = {"draft": ("草稿", "draft"), "published": ("已发布", "published"), "done": ("已完成", "done"),
            "exempted": ("免写", "excused"), "discarded": ("已撤销", "discarded")}  # fmt: skip

WORDS: dict[str, tuple[str, str]] = {
    "app": ("减负 · 分层作业", "jianfu · tiered homework"),
    "skip": ("跳到正文", "Skip to content"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "wrong_password": ("用户名或密码不对", "Wrong username or password"),
    "too_many_sign_ins": (
        "登录尝试过多，请 {n} 秒后再试。",
        "Too many sign-in attempts; try again in {n} seconds.",
    ),
    "login_form_refused": (
        "登录表单已过期或来自其他网站，没有登录。请在本页重新登录。",
        "The sign-in form had expired or came from another site; nobody was signed in. Sign in on this page.",
    ),
    "signed_in_as": ("当前账号", "Signed in as"),
    "language": ("语言", "Language"),
    "plan_title": ("布置作业", "Plan homework"),
    "class": ("班级", "Class"),
    "subject": ("学科", "Subject"),
    "night": ("日期（当晚）", "Evening"),
    "choose": ("选择", "Choose"),
    "todays_points": ("今天讲授的知识点", "Knowledge points taught today"),
    "taught_already": ("已讲授", "taught already"),
    "make_plan": ("生成分层作业", "Make tiered sets"),
    "preview": ("预览", "Preview"),
    "student": ("学生", "Student"),
    "basic": ("基础（必做）", "Basic (required)"),
    "extension": ("拓展（选做）", "Extension (optional)"),
    "minutes": ("分钟", "min"),
    "levels": ("掌握等级", "Mastery levels"),
    "evening": ("当晚作业总量", "The whole evening"),
    "cap": ("上限", "cap"),
    "status": ("状态", "Status"),
    "edit": ("修改", "Edit"),
    "publish": ("发布全部草稿", "Publish all drafts"),
    "published_n": ("已发布 {n} 份", "{n} sets published"),
    "no_sets": ("这一晚还没有作业。", "No homework for this evening yet."),
    "worksheets": ("打印作业单", "Print worksheets"),
    "worksheets_pdf": ("下载 PDF", "Download PDF"),
    "edit_title": ("修改 {name} 的作业", "Edit {name}'s set"),
    "keep": ("保留", "keep"),
    "tier": ("层次", "Tier"),
    "add_items": ("加入题目（题号，每行一个）", "Add items (item ids, one per line)"),
    "check_save": ("检查并保存", "Check and save"),
    "violations": ("这份作业不能保存：", "This set cannot be saved:"),
    "rule": ("规则", "Rule"),
    "back": ("返回", "Back"),
    "saved": ("已保存并重新核验", "Saved and verified again"),
    "item": ("题目", "Item"),
    "kind": ("类型", "Kind"),
    "reason": ("原因", "Why"),
    "answer_space": ("作答区", "Answer"),
    "time_spent": ("实际用时：______ 分钟", "Time spent: ______ min"),
    "parent_sign": (
        "家长签字（如今晚免写，请注明）：",
        "Parent's signature (write 'excused' if tonight is excused):",
    ),
    "needs_parent": ("需家长协助", "with a parent"),
    "estimated": ("预计", "about"),
    "tonight": ("今晚的作业", "Tonight's homework"),
    "done": ("已完成", "Done"),
    "mark_done": ("提交", "Submit"),
    "result": ("结果", "Result"),
    "right": ("做对了", "Right"),
    "wrong": ("做错了", "Wrong"),
    "spent": ("用时（分钟）", "Time spent (minutes)"),
    "error_book": ("错题本", "Error book"),
    "no_errors": ("错题本里没有未解决的题。", "No open entries in the error book."),
    "since": ("记录于", "since"),
    "bedtime": ("就寝时间", "Bedtime"),
    "planned": ("预计用时", "Planned"),
    "excuse": ("家长签字免写今晚作业", "Excuse tonight's written work (parent)"),
    "excused": ("今晚已免写", "Excused tonight"),
    "school_evening": ("学生当晚作业", "Each student's evening"),
    "exempt": ("免写", "excused"),
    "reported": ("家长反馈用时", "Reported time"),
    "notice": ("作业公示", "Weekly homework notice"),
    "week_of": ("所在周", "Week of"),
    "per_student": ("每名学生平均", "average per student"),
    "items_n": ("题数", "items"),
    "total": ("合计", "total"),
    "notice_note": ("公示全班平均作业量，不含任何个人信息。", "Class averages only; no individual data."),
    "burden": ("作业负担监测", "Homework burden"),
    "from": ("从", "From"),
    "to": ("到", "To"),
    "estimated_minutes": ("预计用时（平均）", "Estimated (average)"),
    "reported_minutes": ("反馈用时（平均）", "Reported (average)"),
    "over_cap": ("反馈超时人数", "Reported over the cap"),
    "over_cap_bar": ("反馈用时超过上限", "Reported above the cap"),
    "allocations": ("作业时间分配", "Homework time allocation"),
    "weekday": ("星期", "Weekday"),
    "weights": ("各科占比（权重）", "Each subject's weight"),
    "save": ("保存", "Save"),
    "print": ("打印", "Print"),
    "home": ("首页", "Home"),
    "error": ("出错了", "Something went wrong"),
    "forbidden_form": (
        "表单已过期，请刷新页面后重试。",
        "The form has expired; reload the page and try again.",
    ),
    "no_homework_grade": ("本年级不布置书面家庭作业。", "No written homework in this grade."),
    "model_version": ("模型版本", "Model version"),
    "data_title": ("数据组", "Data team"),
    "data_model": ("在用的模型", "The model being served"),
    "data_model_served": ("正在使用 jianfu 第 {v} 版（champion）", "Serving jianfu version {v} (champion)"),
    "data_model_none": ("还没有加载模型", "No model loaded"),
    "data_reload": ("立即查找新的 champion", "Look for a new champion now"),
    "data_model_how": (
        "训练：jianfu train；比较与晋升：jianfu models list / jianfu models promote。服务会自动换用新的 champion。",
        "Train with `jianfu train`; compare and promote with `jianfu models list` / `jianfu models promote`. The service picks up a new champion by itself.",
    ),
    "data_imports": ("导入", "Imports"),
    "data_imports_how": (
        "用 POST /v1/imports 上传 CSV/Parquet 文件（或 jianfu data import）：全部写入，或一行有错就全不写入。",
        "Upload CSV/Parquet files with POST /v1/imports (or `jianfu data import`): all rows are written, or none if any row is wrong.",
    ),
    "data_no_imports": ("这个账号还没有导入过数据。", "This account has not imported anything yet."),
    "data_job": ("任务", "Job"),
    "data_files": ("文件", "Files"),
    "data_problems": ("问题", "Problems"),
    "data_dry_run": ("只检查", "check only"),
    "job_queued": ("排队中", "queued"),
    "job_running": ("进行中", "running"),
    "job_done": ("已完成", "done"),
    "job_failed": ("失败", "failed"),
    "job_interrupted": ("被中断", "interrupted"),
    "data_exports": ("导出", "Exports"),
    "data_exports_how": (
        "学生以加密哈希出现，不含学号和姓名。",
        "Students appear as keyed hashes: no ids, no names.",
    ),
    "data_export_attempts": ("作答记录", "Answers"),
    "data_export_error_book": ("错题本", "Error book"),
    "data_api": ("API 文档", "API documentation"),
    "data_docs": ("接口文档", "API reference"),
    "reloaded": ("已重新查找模型", "Looked for a new model"),
    "no_time_students": ("涉及本班 {n} 名学生", "{n} students of the class"),
    "split_default": ("学校默认分配", "the school's default"),
    "split_set": ("班主任设定", "set by the head teacher"),
    "allocation_minutes": (
        "每天各科的作业时间（分钟，按每晚上限 {cap} 分钟计算）。没有设定的日子按学校默认分配；修改权重即可调整。",
        "Each day's homework minutes per subject (of the {cap}-minute evening cap). Days not set use the school's default; change the weights to adjust.",
    ),
    "weight": ("权重", "weight"),
    # the student's evening (issues 16 and 17)
    "your_answer": ("答案", "Your answer"),
    "self_report": ("自评", "self-report"),
    "choose_result": ("请选择", "Choose"),
    "graded_right": ("✔ 答对了", "✔ Right"),
    "graded_wrong": ("✘ 答错了，这道题已记入错题本", "✘ Wrong: the item is in the error book now"),
    "spent_so_far": ("已用", "spent so far"),
    "excused_note": (
        "今晚的书面作业不用做，也不会移到明天（T12）。",
        "Tonight's written work is not to be done, and none of it moves to tomorrow (T12).",
    ),
    "undo_excuse": ("撤销免写（今晚继续做作业）", "Undo the excuse (do tonight's work after all)"),
    "excuse_undone": (
        "已撤销免写，今晚的作业照常完成。",
        "The excuse is undone: tonight's work is to be done.",
    ),
    "excuse_reason": ("免写原因", "Reason"),
    "choose_reason": ("请选择原因", "Choose a reason"),
    "excuse_ill": ("身体不适", "Unwell"),
    "excuse_tired": ("孩子太累", "Too tired"),
    "excuse_family": ("家庭安排", "Family commitment"),
    "excuse_other": ("其他", "Other"),
    "excuse_detail": ("补充说明（可不填）", "Details (optional)"),
    "excuse_confirm": (
        "我确认：今晚的书面作业不做，也不会移到明天。",
        "I confirm: tonight's written work is not done, and it does not move to tomorrow.",
    ),
    "stop_evening": ("时间到了，停止今晚的作业", "Time is up: stop tonight's homework"),
    "time_up_cap": (
        "今晚的作业时间已经用完。剩下的 {n} 题记为“时间到未做”，不算错，也不会移到明天。",
        "Tonight's homework time is used up. The {n} items left are recorded as not done because time ran "
        "out: not counted as wrong, not moved to tomorrow.",
    ),
    "time_up_bedtime": (
        "已经到了就寝时间。剩下的 {n} 题记为“时间到未做”，不算错，也不会移到明天。",
        "It is bedtime. The {n} items left are recorded as not done because time ran out: not counted "
        "as wrong, not moved to tomorrow.",
    ),
    "stopped": ("今晚的作业已停止：时间到了。", "Tonight's homework is stopped: time is up."),
    "stopped_cap": ("今晚的作业时间已用完，已停止（作业熔断）。", "Tonight's time was used up: stopped."),
    "stopped_bedtime": (
        "到了就寝时间，今晚的作业已停止（作业熔断）。",
        "Bedtime came: tonight's homework stopped.",
    ),
    "book_open_n": ("未订正 {n} 题", "{n} open"),
    "book_print": ("打印错题本", "Print the error book"),
    "book_record_note": (
        "错题记录，供查看，不是额外作业：复习题只会在每晚的时间里安排（T11）。",
        "A record to look at, not extra homework: reviews come only within an evening's time (T11).",
    ),
    "question": ("题目", "Question"),
    "went_wrong": ("做错于", "Went wrong"),
    "right_since": ("之后做对了吗", "Right since?"),
    "yes_on": ("做对了（{day}）", "yes ({day})"),
    "not_yet": ("还没有", "not yet"),
    "timed_out": ("⏸ 时间到，未做（不算错）", "⏸ Not done: time ran out (not counted as wrong)"),
}


def word(lang: str, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def subject_name(lang: str, subject: str) -> str:
    return SUBJECTS_EN.get(subject, subject) if lang == "en" else SUBJECTS.get(subject, subject)


def kind_name(lang: str, kind: str) -> str:
    return KINDS_EN.get(kind, kind) if lang == "en" else ITEM_KINDS.get(kind, kind)


def error_name(lang: str, error: str | None) -> str:
    if not error:
        return ""
    return ERRORS_EN.get(error, error) if lang == "en" else ERROR_TYPES.get(error, error)


def tier_name(lang: str, tier: str) -> str:
    zh, en = TIERS.get(tier, (tier, tier))
    return en if lang == "en" else zh


def status_name(lang: str, status: str) -> str:
    zh, en = STATUSES.get(status, (status, status))
    return en if lang == "en" else zh
